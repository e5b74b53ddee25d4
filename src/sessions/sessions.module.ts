import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { SessionActivityService } from './session-activity.service';
import { SessionCleanupService } from './session-cleanup.service';
import { Session } from './session.entity';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

@Module({
  imports: [TypeOrmModule.forFeature([Session])],
  controllers: [SessionsController],
  providers: [SessionsRepository, SessionsService, SessionActivityService, SessionCleanupService],
  exports: [SessionsRepository, SessionActivityService],
})
export class SessionsModule {}
